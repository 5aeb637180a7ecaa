"""Dockerfile parsing (BuildKit's parser via the ``dockerfile`` package), the model, and lint rules."""

from alpinist.dockerfile.model import Dockerfile, DockerfileError, Heredoc, ImageName, Instruction, Stage
from alpinist.dockerfile.parse import expand_word, parse_dockerfile, parse_image_name, read_dockerfile

__all__ = [
    "Dockerfile",
    "DockerfileError",
    "Heredoc",
    "ImageName",
    "Instruction",
    "Stage",
    "expand_word",
    "parse_dockerfile",
    "parse_image_name",
    "read_dockerfile",
]
