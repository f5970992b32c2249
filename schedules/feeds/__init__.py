"""Calendar feeds: time-zone blocks and events (`ical`), views and links (`views`), URLs."""
