"""Finding people: one normal form for names and numbers, in the database and in the query.

A nurse types "Shah, Priya" (the list's own order), "obrien" for O'Brien, "zoe" for Zoë,
"h100002" for H100002. Both sides are folded the same way: lower case, apostrophes and
full stops dropped, hyphens and commas as spaces, common Latin accents stripped.

The database side is `Patient.search_text`, a generated column (SQLite and PostgreSQL compute
it from the name on every write, so it cannot go stale and needs no signal or
save() hook). On PostgreSQL a trigram index (pg_trgm, migration 0002) serves the match, and a
near miss ("obrian") is found by trigram word similarity.
"""

import re
import unicodedata

from django.db import connection
from django.db.models import CharField, F, FloatField, Func, Q, Value
from django.db.models.functions import Concat, Lower, Replace

# Accented letters folded in the generated column, the common ones only: SQLite's parser
# refuses an expression nested more than about 30 deep. On PostgreSQL a rarer accent is still
# found as a near miss by trigram similarity. Its lower() folds ASCII only, so the
# capitals that start names are listed too. (The query side folds every accent.)
ACCENTS = {
    "a": "áàä",
    "c": "ç",
    "e": "éèêëÉ",
    "i": "íï",
    "n": "ñ",
    "o": "óöø",
    "u": "úü",
}
DROPPED = "'’."
AS_SPACE = "-,"
SIMILAR_ENOUGH = 0.6


def search_text_expression():
    """The SQL expression of the generated column (immutable on PostgreSQL: lower, replace, ||)."""
    text = Lower(Concat(F("given_name"), Value(" "), F("family_name"), output_field=CharField()))
    for plain, accented in ACCENTS.items():
        for letter in accented:
            text = Replace(text, Value(letter), Value(plain))
    for mark in DROPPED:
        text = Replace(text, Value(mark), Value(""))
    for mark in AS_SPACE:
        text = Replace(text, Value(mark), Value(" "))
    return text


def normalise(query: str) -> str:
    """The query in the column's normal form: "O'Brien,  Zoë" → "obrien zoe"."""
    folded = unicodedata.normalize("NFKD", query)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    for mark in DROPPED:
        folded = folded.replace(mark, "")
    folded = re.sub(r"[-,\s]+", " ", folded)
    return folded.strip()


def name_match(query: str) -> Q:
    """Every word of the query is part of the name, in any order."""
    words = normalise(query).split()
    match = Q()
    for word in words:
        match &= Q(search_text__contains=word)
    return match if words else Q(pk__in=[])


def similar_name(query: str):
    """PostgreSQL only: a near miss by trigram word similarity ("obrian" finds O'Brien)."""
    text = normalise(query)
    if connection.vendor != "postgresql" or not text or any(c.isdigit() for c in text):
        return None  # numbers match exactly, never "nearly"
    return Func(
        Value(text),
        F("search_text"),
        function="word_similarity",
        output_field=FloatField(),
    )
