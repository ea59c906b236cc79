"""An ONNX graph of all-MiniLM-L6-v2 (BERT, 6 layers) written from its weights, without PyTorch.

The graph is written directly with onnxruntime's fused transformer operators
(`com.microsoft` EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu):
the same graph onnxruntime's transformer optimizer would produce from an exported
model, with no fusion pass to go wrong. Inputs are `input_ids` and `attention_mask`
(int32, right-padded); the output is `last_hidden_state`; pooling happens outside.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 384
HEADS = 12
LAYERS = 6
EPSILON = 1e-12
MS = "com.microsoft"


class _GraphWriter:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        array = self.weights[key]
        return self.const(key, array.T if transpose else array)

    def node(self, op: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs) -> list[str]:
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], domain=domain, **attrs))
        return outputs


def _check_shapes(weights: dict[str, np.ndarray]) -> None:
    expected = {
        "embeddings.word_embeddings.weight": (30522, HIDDEN),
        "embeddings.position_embeddings.weight": (512, HIDDEN),
        "embeddings.token_type_embeddings.weight": (2, HIDDEN),
        f"encoder.layer.{LAYERS - 1}.output.dense.weight": (HIDDEN, 4 * HIDDEN),
    }
    for key, shape in expected.items():
        if key not in weights:
            raise ValueError(f"weights have no tensor {key}: not a BERT model like all-MiniLM-L6-v2")
        if tuple(weights[key].shape) != shape:
            raise ValueError(f"tensor {key} has shape {tuple(weights[key].shape)}, expected {shape}")


def build_bert_graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The fused FP32 ONNX model for the sentence-transformers MiniLM-L6 weights."""
    _check_shapes(weights)
    g = _GraphWriter(weights)
    # Every input has token type 0: fold that row into the position table and drop the segment input.
    positions = weights["embeddings.position_embeddings.weight"] + weights["embeddings.token_type_embeddings.weight"][0]
    x, mask_index = g.node(
        "EmbedLayerNormalization",
        ["input_ids", "", g.weight("embeddings.word_embeddings.weight"),
         g.const("embeddings.position_plus_type", positions), "",
         g.weight("embeddings.LayerNorm.weight"), g.weight("embeddings.LayerNorm.bias"), "attention_mask"],
        ["embeddings", "mask_index"], domain=MS, epsilon=EPSILON)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        qkv_w = np.concatenate([weights[p + f"attention.self.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([weights[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
        (attn,) = g.node("Attention", [x, g.const(p + "qkv.weight", qkv_w), g.const(p + "qkv.bias", qkv_b), mask_index],
                         [p + "attention"], domain=MS, num_heads=HEADS)
        (proj,) = g.node("MatMul", [attn, g.weight(p + "attention.output.dense.weight", transpose=True)],
                         [p + "attention.projected"])
        (x_attn,) = g.node("SkipLayerNormalization",
                           [proj, x, g.weight(p + "attention.output.LayerNorm.weight"),
                            g.weight(p + "attention.output.LayerNorm.bias"), g.weight(p + "attention.output.dense.bias")],
                           [p + "attention.out"], domain=MS, epsilon=EPSILON)
        (up,) = g.node("MatMul", [x_attn, g.weight(p + "intermediate.dense.weight", transpose=True)], [p + "ffn.up"])
        (act,) = g.node("BiasGelu", [up, g.weight(p + "intermediate.dense.bias")], [p + "ffn.gelu"], domain=MS)
        (down,) = g.node("MatMul", [act, g.weight(p + "output.dense.weight", transpose=True)], [p + "ffn.down"])
        last = "last_hidden_state" if i == LAYERS - 1 else p + "out"
        (x,) = g.node("SkipLayerNormalization",
                      [down, x_attn, g.weight(p + "output.LayerNorm.weight"), g.weight(p + "output.LayerNorm.bias"),
                       g.weight(p + "output.dense.bias")],
                      [last], domain=MS, epsilon=EPSILON)
    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["batch", "sequence"]),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT32, ["batch", "sequence"])],
        outputs=[helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
        initializer=g.initializers)
    model = helper.make_model(graph, producer_name="patina",
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    model.ir_version = 8
    return model
