# SPDX-License-Identifier: Apache-2.0
# engine.pipeline (being written)
from engine.types cimport *
