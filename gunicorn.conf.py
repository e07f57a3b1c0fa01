# gunicorn reads this file from the working directory: the image, docker-compose and the tests
# all start `gunicorn config.wsgi` from the project root, so they share it.
#
# Threads, not one request per process: a query with X-Min-Event-Position may wait seconds for
# the read models, and with sync workers a few such waits held every worker while other users'
# requests queued behind them. Each process lets at most READMODELS_CONSISTENCY_MAX_WAITING (2)
# requests wait, so two of its four threads always serve everyone else.
worker_class = "gthread"
threads = 4
