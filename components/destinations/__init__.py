"""Optional stores loaded from the enriched stream."""
