"""Other OMAPI clients (omshell, pypureomapi) and the benchmark smoke run."""
