"""Whether this test run is mutmut's (`make mutation`): it runs the suite from a copy whose modules import mutmut."""

import os


def under_mutation_testing() -> bool:
    return "MUTANT_UNDER_TEST" in os.environ
