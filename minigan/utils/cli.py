"""argparse types for training scripts: impossible values are refused when the command line
is read, before anything is trained or written (``--steps -5`` ends with "argument --steps:
must be a positive integer, got -5" and exit status 2, like any misspelt flag).

    parser.add_argument("--steps", type=positive_int, default=1000)
"""
import argparse
import math


def checked(convert, ok, meaning):
    """An argparse type: ``convert(text)``, refused unless ``ok(value)``."""
    def parse(text):
        value = convert(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {text}")
        return value
    parse.__name__ = convert.__name__  # for argparse's "invalid int value: 'abc'"
    return parse


positive_int = checked(int, lambda n: n > 0, "a positive integer")
non_negative_int = checked(int, lambda n: n >= 0, "a non-negative integer")
positive_float = checked(float, lambda x: 0 < x < math.inf, "a positive number")
non_negative_float = checked(float, lambda x: 0 <= x < math.inf, "a non-negative number")
fraction = checked(float, lambda x: 0 <= x < 1, "in [0, 1)")
decay_rate = checked(float, lambda x: 0 < x < 1, "in (0, 1), e.g. 0.999")
