"""Reports: one pure formatter per output format."""
