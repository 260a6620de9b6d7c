"""Batch grading of model runs: `a64eq grade` and `a64eq report`."""
