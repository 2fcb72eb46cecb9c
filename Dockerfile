# The ETL system's application image: one image for the web server, the Celery worker and Celery beat
# (docker-compose.yml picks the process with `command`). Configuration comes from the environment only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ETL_VAR_DIR=/app/var

WORKDIR /app

# An unprivileged user owns only var/ (static files, uploads, anything written at run time); the code
# stays read-only to it.
RUN groupadd --system --gid 10001 etl \
    && useradd --system --uid 10001 --gid etl --home-dir /app --no-create-home --shell /usr/sbin/nologin etl

# Dependencies first, so a code change does not reinstall them. All of them ship binary wheels for
# CPython 3.11 on manylinux (psycopg2-binary, chdb, pyarrow, ...): no compiler is needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# var/ must exist, owned by the app user, before a named volume is first mounted on it: Docker copies
# the ownership into the fresh volume.
RUN mkdir -p /app/var && chown etl:etl /app/var

USER etl

EXPOSE 8000

# The web server. docker-compose.yml runs the migrations and collectstatic before it, and uses the same
# image for `celery -A etlsite worker` and `celery -A etlsite beat`.
CMD ["python", "-m", "gunicorn", "etlsite.wsgi:application", \
     "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "300", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
