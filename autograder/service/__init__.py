"""The course submission service: students upload a notebook and see it graded in seconds.

``autograder serve`` runs it (see ``app.py`` for the pages and the JSON API). Modules:

* ``db``: the service's tables, in the course's gradebook database, and its engines;
* ``store``: everything the service reads and writes there (people, policies, submissions);
* ``queue``: the persisted grading queue (atomic claims, requeue after a crash);
* ``roster``: reading an LMS roster export into people;
* ``auth``: sign-in tokens, instructor passwords, who a request is from;
* ``policy``: the per-assignment rules (deadline, late penalty, rate limit, which counts);
* ``grading``: the one link to the grading core (a queued submission in, a result out);
* ``runner``: the threads that claim jobs and grade them;
* ``exports``: the marks CSV and Canvas's gradebook import CSV;
* ``app``: the FastAPI application: pages (Jinja2 templates) and the JSON API.
"""
