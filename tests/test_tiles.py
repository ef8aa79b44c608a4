"""Tests of vae_course._tiles: the image forms pictures accept and where the tiles sit."""

from __future__ import annotations

import pytest
import torch

from vae_course import _tiles


def test_as_images_accepts_batches_stacks_and_single_images():
    assert _tiles.as_images(torch.rand(5, 1, 4, 4)).shape == (5, 1, 4, 4)
    assert _tiles.as_images(torch.rand(5, 4, 4)).shape == (5, 1, 4, 4)
    assert _tiles.as_images(torch.rand(4, 4)).shape == (1, 1, 4, 4)
    assert _tiles.as_images([[0.0, 1.0], [1.0, 0.0]]).dtype == torch.float32
    with pytest.raises(TypeError, match="tensor of images"):
        _tiles.as_images("not images")
    with pytest.raises(ValueError, match="N >= 1"):
        _tiles.as_images(torch.rand(0, 1, 4, 4))


def test_as_single_wants_exactly_one_image():
    assert _tiles.as_single(torch.rand(1, 4, 4), "x").shape == (1, 1, 4, 4)
    assert _tiles.as_single(torch.rand(3, 4, 4), "x").shape == (1, 3, 4, 4)  # one RGB image
    with pytest.raises(ValueError, match="one image"):
        _tiles.as_single(torch.rand(2, 1, 4, 4), "x")


def test_tile_centres_are_the_middles_of_the_tiles_in_the_grid():
    images = torch.zeros(3, 1, 5, 5)
    images[1] = 1.0  # the middle tile is white
    picture = _tiles.grid(images, nrow=3)[0]
    row = picture[int(_tiles.tile_centres(1, 5)[0])]
    centres = [int(c) for c in _tiles.tile_centres(3, 5)]
    assert [row[c].item() for c in centres] == [0.0, 1.0, 0.0]
    assert picture.shape == (5 + 2 * _tiles.PAD, 3 * 5 + 4 * _tiles.PAD)
    assert picture[0, 0].item() == _tiles.PAD_VALUE  # grey separators
