# Multi-stage: a static binary built with CGO off, run on distroless as
# nonroot (uid 65532), as the restricted Pod Security Standard expects.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY pkg/ pkg/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/mldata ./cmd/mldata

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/mldata /mldata
USER 65532:65532
ENTRYPOINT ["/mldata"]
