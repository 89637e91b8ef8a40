"""Circuit ⇄ binarized neural network: exact conversion, threshold packing, ONNX export, retraining."""

from lutnn.bnn.from_circuit import ConversionReport, circuit_to_bnn
from lutnn.bnn.model import BNN, BNNModule, evaluate_bnn, load_bnn, save_bnn

__all__ = ["BNN", "BNNModule", "ConversionReport", "circuit_to_bnn", "evaluate_bnn", "load_bnn", "save_bnn"]
