# PyTorch Shape Inspector: `docker build -t shape-inspector . && docker run -p 127.0.0.1:8501:8501 shape-inspector`
# CPU-only torch keeps the image near 1.3 GB instead of several GB.
# CUDA variant: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 and run with --gpus all.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Graphviz's dot lays out the model graph for its SVG download (the page draws DOT in the browser).
# Debian's stable package, updated with the base image; hadolint wants apt versions pinned.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends graphviz && rm -rf /var/lib/apt/lists/*

# torch first, from the CPU (or CUDA) index alone, so requirements.txt's pin finds it installed.
COPY requirements.txt .
# torch is pinned; hadolint reads the optional --index-url expansion as an unpinned package.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0 \
    && pip install --no-cache-dir -r requirements.txt

# The app user owns nothing it runs: the code stays root's (read-only for uid 10001), and its home
# is /tmp, the one writable place (a tmpfs under compose's read_only root) for torch's and
# Streamlit's caches.
RUN useradd --no-create-home --home-dir /tmp --shell /usr/sbin/nologin --uid 10001 inspector
COPY . .
ENV HOME=/tmp
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
# 0.0.0.0 inside the container; which host address it is published on is compose's (or -p's) choice.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
