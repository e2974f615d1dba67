import { endpointFor, parseEndpoint } from "@deeptrace/shared/spans/endpoint";
import { describe, expect, it } from "vitest";

describe("endpoint parsers", () => {
  it("HTTP/1: method and path without the query string", () => {
    expect(parseEndpoint("HTTP1", "GET /api/users?id=7&x=1 HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(
      "GET /api/users",
    );
    expect(parseEndpoint("http", "POST /orders HTTP/1.1\r\n\r\n{}")).toBe("POST /orders");
    expect(parseEndpoint("HTTP1", "not a request line")).toBeUndefined();
  });

  it("HTTP/2 and gRPC: the plain-text :path literal", () => {
    const headers = (path: string) =>
      `\x00\x00\x1e\x01\x04\x00\x00\x00\x01\x83\x86\x44${String.fromCharCode(path.length)}${path}`;
    expect(parseEndpoint("HTTP2", `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${headers("/api/items")}`)).toBe(
      "HTTP2 /api/items",
    );
    expect(parseEndpoint("gRPC", headers("/shop.Cart/GetCart"))).toBe("gRPC /shop.Cart/GetCart");
  });

  it("Thrift: the method name of a binary-protocol message", () => {
    expect(parseEndpoint("Thrift", "\x80\x01\x00\x01\x00\x00\x00\x07getUser\x00\x00\x00\x01")).toBe(
      "thrift getUser",
    );
  });

  it("Redis: the command of a RESP array", () => {
    expect(parseEndpoint("Redis", "*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n")).toBe("redis GET");
  });

  it("MongoDB: the command of an OP_MSG body", () => {
    const msg =
      "\x3a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x25\x00\x00\x00\x02find\x00\x06\x00\x00\x00users\x00\x00";
    expect(parseEndpoint("MongoDB", msg)).toBe("mongodb find");
  });

  it("MySQL: the statement kind of a COM_QUERY, any case", () => {
    expect(parseEndpoint("MySQL", "\x21\x00\x00\x00\x03select * from t where id = 1")).toBe(
      "mysql SELECT",
    );
    expect(parseEndpoint("MySQL", "\x10\x00\x00\x00\x03UPDATE t SET a = 1")).toBe("mysql UPDATE");
  });

  it("DNS: query type and name", () => {
    const query =
      "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01";
    expect(parseEndpoint("DNS", query)).toBe("DNS A example.org");
  });

  it("falls back to the protocol name, then to unknown", () => {
    expect(parseEndpoint("Kafka", "whatever")).toBeUndefined();
    expect(endpointFor("Kafka", "whatever")).toBe("Kafka");
    expect(endpointFor("HTTP1", "garbage")).toBe("HTTP1");
    expect(endpointFor("", "x")).toBe("unknown");
  });
});
