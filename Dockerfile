# The desk as one image: UI + MCP over streamable HTTP on port 8000.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng espeak-ng poppler-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY agent agent
COPY tools tools
COPY store store
COPY ui ui
# CPU torch first so sentence-transformers does not pull CUDA wheels.
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir .
ENV SUPPORT_DATA_DIR=/data SUPPORT_HOST=0.0.0.0 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "support-agent db upgrade && support-agent serve"]
