# The a64eq service: Debian slim with Python 3.11, the GNU assembler for AArch64, and the package with its
# `api` extra. The install steps are the README's: apt-get install binutils-aarch64-linux-gnu; pip install .[api]
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils-aarch64-linux-gnu \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN pip install --no-cache-dir ".[api]"

RUN useradd --create-home a64eq && mkdir /data && chown a64eq /data
USER a64eq
WORKDIR /home/a64eq

# The job store lives on a volume; the rest of the configuration comes from A64EQ_* variables.
ENV A64EQ_HOST=0.0.0.0 \
    A64EQ_PORT=8000 \
    A64EQ_JOB_STORE=/data/jobs.sqlite
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["a64eq", "serve"]
