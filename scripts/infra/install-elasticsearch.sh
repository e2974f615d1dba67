#!/usr/bin/env bash
# Downloads the Elasticsearch integ-test-zip from Maven Central into the cache, unpacks it
# and creates the unprivileged system user it runs as (Elasticsearch refuses root).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_cmd mvn
require_cmd unzip
mkdir -p "$DT_LOGS" "$DT_DOWNLOADS" "$(dirname "$ES_HOME")"

if [[ ! -x "$ES_HOME/bin/elasticsearch" ]]; then
  zip="$DT_DOWNLOADS/elasticsearch-$ES_VERSION.zip"
  if [[ ! -s "$zip" ]]; then
    log="$DT_LOGS/elasticsearch-download.log"
    info "downloading $ES_ARTIFACT"
    if ! mvn -B -Dstyle.color=never \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$DT_DOWNLOADS" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "could not download $ES_ARTIFACT from Maven Central (full log: $log)"
    fi
    [[ -s "$zip" ]] || die "maven reported success but $zip is missing (log: $log)"
  fi
  actual="$(sha256sum "$zip" | cut -d' ' -f1)"
  if [[ "$actual" != "$ES_ZIP_SHA256" ]]; then
    rm -f "$zip"
    die "$zip has SHA-256 $actual, expected $ES_ZIP_SHA256; deleted it (a corrupt copy in ~/.m2 would need deleting too)"
  fi
  unpack="$(mktemp -d "$(dirname "$ES_HOME")/.unpack.XXXXXX")"
  unzip -q "$zip" -d "$unpack" || die "could not unpack $zip"
  [[ -x "$unpack/elasticsearch-$ES_VERSION/bin/elasticsearch" ]] ||
    die "$zip does not contain elasticsearch-$ES_VERSION/bin/elasticsearch"
  mv "$unpack/elasticsearch-$ES_VERSION" "$ES_HOME"
  rmdir "$unpack"
fi

if ! id -u "$ES_USER" >/dev/null 2>&1; then
  require_root "install-elasticsearch.sh" "creates the system user $ES_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$ES_USER" || die "could not create the system user $ES_USER"
fi
