"""Batch grading of model runs: `a64eq grade` and `a64eq report`.

A walk through the modules, in the order data flows:

grade
    records.py   input files -> validated `Record`s (JSONL, JSON list, CSV, directory of .s files)
    cache.py     the normalised pair -> a content-addressed key; the on-disk result cache (SQLite)
    runner.py    records -> distinct checks -> results -> output lines; resume, sharing, the bounded window
    backends.py  where checks run: the local `CheckPool`, or pools inside Ray actors
    output.py    the results file: append + flush, resume after a crash, reading it back
    progress.py  the progress line

report
    asmtokens.py answers -> classified tokens; the normalised text EMR and BLEU compare
    cost.py      instruction count and latency estimate, for Improved and Matches/beats reference
    metrics.py   the per-model table and the reference audit
    taxonomy.py  what kind of mistake each wrong or invalid answer makes
    report.py    terminal, Markdown and CSV rendering
    html.py      the self-contained HTML page with matplotlib charts

cli.py registers both subcommands with `verifier.cli`.
"""
