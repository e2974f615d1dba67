import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { file_health_v1_health } from "../gen/health/v1/health_pb.js";

const require = createRequire(import.meta.url);

/** The reflection service's own protos, so reflection lists itself as grpcurl expects. */
function reflectionProtoPaths(): string[] {
  const root = join(
    dirname(require.resolve("@grpc/reflection")),
    "..",
    "proto",
    "grpc",
    "reflection",
  );
  return [join(root, "v1", "reflection.proto"), join(root, "v1alpha", "reflection.proto")];
}

/** A file and everything it imports, each once, dependencies first. */
function fileClosure(files: DescFile[]): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (file: DescFile) => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of files) visit(file);
  return ordered;
}

/**
 * What @grpc/reflection needs to describe a server: our services' and the health
 * service's file descriptors (from the generated protobuf-es code, with their imports)
 * and reflection itself. Reflection only reads `fileDescriptorProtos` of each entry.
 */
export function reflectionPackage(services: DescService[]): PackageDefinition {
  const files = fileClosure([...services.map((service) => service.file), file_health_v1_health]);
  const ours = {
    format: "Protocol Buffer 3 FileDescriptorProto",
    fileDescriptorProtos: files.map((file) =>
      Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)),
    ),
  };
  const loaded = reflectionProtoPaths().map((path) => loadSync(path));
  return Object.assign(
    { "deeptrace.descriptors": ours } as unknown as PackageDefinition,
    ...loaded,
  );
}
