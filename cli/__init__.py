"""The `citycloud` command line: parsing and output only; the work happens in the other packages."""
