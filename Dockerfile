# Flowgate: one image for web, worker, beat, flower and migrations (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOWGATE_HOME=/var/lib/flowgate

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --home-dir /var/lib/flowgate --create-home flowgate \
    && mkdir -p /app/staticfiles \
    && FLOWGATE_HOME=/tmp/flowgate-build python manage.py collectstatic --noinput \
    && rm -rf /tmp/flowgate-build \
    && chown -R flowgate /var/lib/flowgate

USER flowgate
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["python", "scripts/healthcheck.py", "web"]

# ASGI (see config/asgi.py): live streams hold no thread; other requests get one each.
ENV DATABASE_CONN_MAX_AGE=0
CMD ["python", "-m", "config.serve", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--forwarded-allow-ips", "*"]
