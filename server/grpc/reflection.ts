/**
 * gRPC server reflection (grpc/doc/server-reflection.md), as grpc-go's `reflection.Register`
 * serves it: `grpc.reflection.v1.ServerReflection` and its predecessor
 * `grpc.reflection.v1alpha.ServerReflection` describe the services registered on a
 * {@linkcode GrpcServer}, so tools such as `grpcurl -plaintext host:port list` work.
 *
 * Descriptors come from the protobuf-es generated code (each service's file and its imports);
 * a stream sends a file's transitive dependencies only once, and unknown names are answered with
 * an `error_response` of code NOT_FOUND, as grpc-go does.
 *
 * @module
 */
import type {
  DescEnum,
  DescExtension,
  DescFile,
  DescMessage,
  MessageInitShape,
} from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  ServerReflection as ServerReflectionV1,
  type ServerReflectionRequest as RequestV1,
  type ServerReflectionResponseSchema as ResponseV1Schema,
} from "../../proto/gen/grpc/reflection/v1/reflection_pb.ts";
import {
  ServerReflection as ServerReflectionV1alpha,
  type ServerReflectionRequest as RequestV1alpha,
  type ServerReflectionResponseSchema as ResponseV1alphaSchema,
} from "../../proto/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import type { GrpcServer } from "./server.ts";
import { Code, GrpcError } from "./status.ts";

type Request = RequestV1 | RequestV1alpha;
type Response = MessageInitShape<typeof ResponseV1Schema>;

/**
 * What reflection knows: the files of the registered services and their transitive imports, by
 * file name and by every fully-qualified name they declare.
 */
class DescriptorIndex {
  /** Full names of the registered services, sorted. */
  readonly services: string[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #messages = new Set<string>();
  readonly #extensions: DescExtension[] = [];

  constructor(server: GrpcServer) {
    const services = server.services();
    this.services = services.map((s) => s.typeName).sort();
    for (const s of services) this.#addFile(s.file);
  }

  #addFile(file: DescFile) {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const m of file.messages) this.#addMessage(file, m);
    for (const e of file.enums) this.#addEnum(file, e);
    for (const x of file.extensions) this.#addExtension(file, x);
    for (const s of file.services) {
      this.#symbols.set(s.typeName, file);
      for (const m of s.methods) this.#symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const dep of file.dependencies) this.#addFile(dep);
  }

  #addMessage(file: DescFile, m: DescMessage) {
    this.#symbols.set(m.typeName, file);
    this.#messages.add(m.typeName);
    for (const f of m.fields) this.#symbols.set(`${m.typeName}.${f.name}`, file);
    for (const o of m.oneofs) this.#symbols.set(`${m.typeName}.${o.name}`, file);
    for (const n of m.nestedMessages) this.#addMessage(file, n);
    for (const e of m.nestedEnums) this.#addEnum(file, e);
    for (const x of m.nestedExtensions) this.#addExtension(file, x);
  }

  #addEnum(file: DescFile, e: DescEnum) {
    this.#symbols.set(e.typeName, file);
    // Enum values are scoped like their enum (C++ rules): siblings of the enum, not children.
    const scope = e.typeName.slice(0, Math.max(0, e.typeName.lastIndexOf(".")));
    for (const v of e.values) this.#symbols.set(scope ? `${scope}.${v.name}` : v.name, file);
  }

  #addExtension(file: DescFile, x: DescExtension) {
    this.#symbols.set(x.typeName, file);
    this.#extensions.push(x);
  }

  /** The file named `name` (e.g. `store/storepb/rpc.proto`). */
  file(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  /** The file declaring the fully-qualified `symbol`. */
  fileContaining(symbol: string): DescFile | undefined {
    return this.#symbols.get(symbol);
  }

  /** Whether `typeName` is a known message type. */
  hasMessage(typeName: string): boolean {
    return this.#messages.has(typeName);
  }

  /** The known extensions of message type `typeName`. */
  extensionsOf(typeName: string): DescExtension[] {
    return this.#extensions.filter((x) => x.extendee.typeName === typeName);
  }
}

/**
 * Serialized FileDescriptorProtos of `file` and of its transitive imports not yet in `sent`
 * (which it updates); `file` itself is always included, as grpc-go does.
 */
function withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const queue = [file];
  const seen = new Set<string>();
  for (let cur = queue.shift(); cur !== undefined; cur = queue.shift()) {
    const name = cur.proto.name;
    if (seen.has(name)) continue;
    seen.add(name);
    if (cur === file || !sent.has(name)) {
      sent.add(name);
      out.push(toBinary(FileDescriptorProtoSchema, cur.proto));
    }
    queue.push(...cur.dependencies);
  }
  return out;
}

function notFound(message: string): Response["messageResponse"] {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}

function files(file: DescFile | undefined, sent: Set<string>, err: string) {
  if (file === undefined) return notFound(err);
  return {
    case: "fileDescriptorResponse" as const,
    value: { fileDescriptorProto: withDependencies(file, sent) },
  };
}

/** Answers one request; `sent` is the stream's set of file names already described. */
function answer(req: Request, index: DescriptorIndex, sent: Set<string>): Response {
  const r = req.messageRequest;
  let messageResponse: Response["messageResponse"];
  switch (r.case) {
    case "fileByFilename":
      messageResponse = files(index.file(r.value), sent, `unknown file: ${r.value}`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(
        index.fileContaining(r.value),
        sent,
        `unknown symbol: ${r.value}`,
      );
      break;
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = r.value;
      if (!index.hasMessage(containingType)) {
        messageResponse = notFound(`unknown type: ${containingType}`);
        break;
      }
      const ext = index.extensionsOf(containingType).find((x) => x.number === extensionNumber);
      messageResponse = files(
        ext?.file,
        sent,
        `no extension ${extensionNumber} of ${containingType}`,
      );
      break;
    }
    case "allExtensionNumbersOfType":
      messageResponse = index.hasMessage(r.value)
        ? {
          case: "allExtensionNumbersResponse",
          value: {
            baseTypeName: r.value,
            extensionNumber: index.extensionsOf(r.value).map((x) => x.number).sort((a, b) => a - b),
          },
        }
        : notFound(`unknown type: ${r.value}`);
      break;
    case "listServices":
      messageResponse = {
        case: "listServicesResponse",
        value: { service: index.services.map((name) => ({ name })) },
      };
      break;
    default:
      throw new GrpcError(Code.InvalidArgument, "invalid MessageRequest: none set");
  }
  return { validHost: req.host, originalRequest: plainRequest(req), messageResponse };
}

/** The request as a plain init object, valid for the v1 and the v1alpha response alike. */
function plainRequest(req: Request): Response["originalRequest"] {
  const r = req.messageRequest;
  return {
    host: req.host,
    messageRequest: r.case === "fileContainingExtension"
      ? {
        case: r.case,
        value: { containingType: r.value.containingType, extensionNumber: r.value.extensionNumber },
      }
      : r.case === undefined
      ? { case: undefined }
      : { case: r.case, value: r.value },
  };
}

async function* serve(
  server: GrpcServer,
  requests: AsyncIterable<Request>,
): AsyncIterable<Response> {
  // Built per stream: services registered later are listed too, and a stream stays consistent.
  const index = new DescriptorIndex(server);
  const sent = new Set<string>();
  for await (const req of requests) yield answer(req, index, sent);
}

/**
 * Registers `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection`
 * on `server`. They describe every service registered on it, including themselves, whenever a
 * reflection stream starts.
 *
 * @example
 * ```ts ignore
 * const grpc = new GrpcServer();
 * new HealthService().register(grpc);
 * registerReflectionService(grpc);
 * // grpcurl -plaintext localhost:9001 list
 * ```
 */
export function registerReflectionService(server: GrpcServer): void {
  server.addService(ServerReflectionV1, {
    serverReflectionInfo: (requests) => serve(server, requests),
  });
  server.addService(ServerReflectionV1alpha, {
    serverReflectionInfo: (requests) =>
      serve(server, requests) as AsyncIterable<MessageInitShape<typeof ResponseV1alphaSchema>>,
  });
}
