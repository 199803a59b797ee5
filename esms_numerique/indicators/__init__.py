"""Usage indicators (U-*), computed where the DUI data lives: only aggregates leave the OG."""
