"""Debian's jupyter_kernel_test against the installed tslab-mlflow kernelspec.

A test peer only (the product has no Python). Run by jupyter-kernel-test.test.ts as
`/usr/bin/python3 -m unittest -v kernel_test_tslab_mlflow` with JUPYTER_DATA_DIR
pointing at a directory where `tslab-mlflow install` wrote the kernelspec.
"""
import os
import unittest

import jupyter_kernel_test as jkt


class TslabMlflowKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("KERNEL_NAME", "tslab-mlflow")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The kernel answers at once but type-checks its first cell only once its
        # compiler is warm; on a loaded machine that can outlast the suite's 15 s
        # per-message timeout, so warm it here with a generous one.
        reply = cls.kc.execute_interactive("0", store_history=False, timeout=180)
        assert reply["content"]["status"] == "ok", reply

    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    # Exact sets: the test compares the reply's matches as a set.
    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const zebraLongName = 1, zebraLongOther = 2;\nzebraLong", "matches": {"zebraLongName", "zebraLongOther"}},
    ]

    complete_code_samples = ["1 + 1", "const a = 3;", "function f() { return 1; }", "if (true) {\n  1;\n}"]
    incomplete_code_samples = ["function f() {", "const a = [1, 2,", "if (true) {\n  1;"]
    invalid_code_samples = ["const = 5;", "1 +* 2", ")"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": '"a" + "b"', "result": "'ab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.markdown("# title")', "mime": "text/markdown"},
        {"code": 'display.svg("<svg xmlns=\\"http://www.w3.org/2000/svg\\"></svg>")', "mime": "image/svg+xml"},
    ]

    code_history_pattern = "1 + 2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    unittest.main()
