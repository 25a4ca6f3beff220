/**
 * ONNX ModelProto serialisation. We need only the few messages a graph of standard ops uses, so the schema
 * below is a verbatim subset of onnx/onnx.proto3 (same field numbers), parsed by protobufjs at load time.
 * Shipping the full onnx.proto (or a generated package) would add ~4,000 lines for messages we never write.
 */
import protobuf from 'protobufjs';
import { VERSION } from '../../package-info.js';

const ONNX_PROTO_SUBSET = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; }
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  AttributeType type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; string doc_string = 3; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
  string domain = 7;
}
message StringStringEntryProto { string key = 1; string value = 2; }
message ModelProto {
  int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int32 int32_data = 5;
  repeated int64 int64_data = 7;
  string name = 8;
  bytes raw_data = 9;
  repeated double double_data = 10;
  string doc_string = 12;
}
message TensorShapeProto {
  message Dimension {
    oneof value { int64 dim_value = 1; string dim_param = 2; }
    string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
  string denotation = 6;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const root = protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType codes for the element types we use. */
export const OnnxDataType = { float: 1, uint8: 2, int32: 6, int64: 7, bool: 9, double: 11 } as const;
export type DType = keyof typeof OnnxDataType;

export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorProtoInit {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
export interface AttributeInit {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoInit;
  floats?: number[];
  ints?: number[];
}
export interface NodeInit {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: AttributeInit[];
  domain?: string;
}
export interface ValueInfoInit {
  name: string;
  elemType: number;
  /** number = fixed size, string = symbolic (dynamic) dimension */
  shape: (number | string)[];
}
export interface ModelInit {
  graphName: string;
  nodes: NodeInit[];
  initializers: TensorProtoInit[];
  inputs: ValueInfoInit[];
  outputs: ValueInfoInit[];
  opset: number;
  /** other operator domains, e.g. { domain: 'com.microsoft', version: 1 } */
  extraOpsets?: { domain: string; version: number }[];
  docString?: string;
  metadata?: Record<string, string>;
}

function valueInfo(v: ValueInfoInit) {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.elemType,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** Serialises a graph to ONNX ModelProto bytes (IR version 8, default domain at `opset`). */
export function encodeModel(m: ModelInit): Uint8Array {
  const message = ModelProto.fromObject({
    ir_version: 8,
    producer_name: 'nerd',
    producer_version: VERSION,
    doc_string: m.docString ?? '',
    opset_import: [{ domain: '', version: m.opset }, ...(m.extraOpsets ?? [])],
    metadata_props: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: m.graphName,
      node: m.nodes,
      initializer: m.initializers,
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

/** A decoded ModelProto as plain data (int64 as numbers, bytes as Uint8Array), for rewriting passes. */
export type ModelObject = Record<string, unknown>;

/** Decodes ModelProto bytes for a rewriting pass (quantize.ts); `encodeModelObject` writes it back. */
export function decodeModelObject(bytes: Uint8Array): ModelObject {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as ModelObject;
}

/** Serialises a ModelProto held as plain data (see `decodeModelObject`). */
export function encodeModelObject(model: ModelObject): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Decodes ModelProto bytes to a plain object (for tests and debugging). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array }) as Record<string, unknown>;
}
