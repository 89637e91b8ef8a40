"""Family 2, quantized networks: exact integer model (numpy), QAT (torch), truth-table and datapath compile, QONNX import.

Import the submodule you need: ``intmodel`` (numpy only), ``qat``/``conv`` (torch), ``neurons``
(truth-table route), ``arith`` (datapath route through Yosys/ABC), ``qonnx``, ``io``, ``config``.
"""
