"""Checking hand-written answers: ``verify`` (one answer, path by path), ``feedback`` (the
diagnosis in words, English and Russian) and ``classroom`` (a class's answers from a CSV file,
reports in HTML, CSV and JSON).

Imports ``core``, ``parsing``, ``numeric`` and ``render``.
"""
