"""The model zoo: plain-PyTorch reference models and the registry that names them."""

from models.registry import ZOO, ModelOption, ZooEntry, get_entry, zoo_names

__all__ = ["ZOO", "ModelOption", "ZooEntry", "get_entry", "zoo_names"]
