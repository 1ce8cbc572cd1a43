"""Presale: inquiries (询单) and bargaining rounds (议价) against the floor price."""
