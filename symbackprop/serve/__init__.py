"""The checking page: ``symbackprop serve MODEL`` serves one page where a student picks a
parameter, types a derivative, sees how it was read and gets the verdict with the network's
diagram highlighting the missing or wrong paths (``app``: the Flask application and its JSON
API; ``page``: the page itself; ``server``: a threaded WSGI server, waitress).

The top floor beside ``cli``: imports every floor below it. Needs the ``serve`` extra
(``pip install 'symbackprop[serve]'``: Flask and waitress).
"""
