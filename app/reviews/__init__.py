"""Reviews: buyer reviews from storefronts (and, later, CSAT survey responses)."""
