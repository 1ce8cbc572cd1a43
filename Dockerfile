# syntax=docker/dockerfile:1
# Not built on the development machine (no Docker engine there); written from Docker's docs.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY app ./app
COPY alembic ./alembic
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

FROM python:3.12-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HUITOU_ENVIRONMENT=production
RUN groupadd --system huitou && useradd --system --gid huitou --home-dir /srv/huitou huitou \
    && mkdir -p /srv/huitou/var && chown -R huitou:huitou /srv/huitou
COPY --from=build /opt/venv /opt/venv
COPY --chown=huitou:huitou alembic.ini /srv/huitou/alembic.ini
COPY --chown=huitou:huitou alembic /srv/huitou/alembic
WORKDIR /srv/huitou
USER huitou
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status==200 else 1)"
CMD ["sh", "-c", "huitou migrate && exec huitou serve --host 0.0.0.0 --port 8000 --workers ${HUITOU_WORKERS:-2}"]
