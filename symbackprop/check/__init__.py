"""Checking hand-written answers: ``verify`` (one answer, path by path), ``feedback`` (the
diagnosis in words, English and Russian), ``notes`` (the same findings as stable codes),
``reading`` (how an answer was read), ``classroom`` (a class's answers from a CSV file, reports in
HTML, CSV and JSON), ``marking`` (partial credit), ``variants`` (an exercise per student, with
worksheets and answer keys), ``moodle`` (the variants as Moodle quiz questions) and ``files``
(reading the small files a teacher hands in).

Imports ``core``, ``parsing``, ``numeric``, ``render`` and ``handout`` (for the worksheets).
"""
