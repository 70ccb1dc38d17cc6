# One image for web, worker and beat (docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput \
 && python manage.py compilemessages --ignore=.venv 2>/dev/null || true
RUN useradd --system --home /app portal && chown -R portal /app
USER portal
EXPOSE 8000
CMD ["gunicorn", "jinju_portal.wsgi:application", "-c", "deploy/gunicorn.conf.py"]
