"""Image features squash the whole image to 224x224 (docs/methods.md C: Resize((224, 224)) bicubic,
not clip.load's short side + centre crop), and JPEGs decode faster without changing a pixel."""

import numpy as np
import pytest
import torch
from PIL import Image

from vlpeft.features import extract
from vlpeft.features.cache import FeatureReader
from vlpeft.features.clip_loader import image_grid_features, import_clip, load_clip, squash_preprocess

MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)


def bordered(w: int = 300, h: int = 200, border: int = 40) -> Image.Image:
    """Grey, with red left and right borders: a centre crop of the short side removes them."""
    img = np.full((h, w, 3), 128, np.uint8)
    img[:, :border] = img[:, -border:] = (255, 0, 0)
    return Image.fromarray(img)


def test_squash_keeps_the_borders_and_crop_would_not(clip_ckpts):
    _, preprocess = load_clip(clip_ckpts["rn"], "cpu")
    x = preprocess(bordered())
    assert x.shape == (3, 224, 224)
    pixels = (x * STD + MEAN) * 255
    assert pixels[0, :, 0].min() > 240 and pixels[1, :, 0].max() < 15  # left column still red
    assert pixels[0, :, -1].min() > 240  # right column too
    crop = import_clip().clip._transform(224)(bordered())  # what clip.load would have done
    assert ((crop * STD + MEAN) * 255)[1, :, 0].min() > 100  # its left column is the grey centre
    # exactly PIL's bicubic resize of the whole image to 224x224, then CLIP mean/std
    manual = torch.from_numpy(np.array(bordered().resize((224, 224), Image.BICUBIC))).permute(2, 0, 1)
    torch.testing.assert_close(x, (manual.float() / 255 - MEAN) / STD, rtol=0, atol=1e-6)


def test_image_features_use_the_squash(clip_ckpts, tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    bordered().save(images / "wide.png")
    out = tmp_path / "f.h5"
    extract.extract_features("image", clip_ckpts["rn"], out, images=images, batch_size=1, workers=0, progress=False)
    model, _ = load_clip(clip_ckpts["rn"], "cpu")
    want = image_grid_features(model, squash_preprocess(224)(bordered()).unsqueeze(0))[0]
    crop = image_grid_features(model, import_clip().clip._transform(224)(bordered()).unsqueeze(0))[0]
    with FeatureReader(out) as r:
        got = torch.from_numpy(r.get("wide"))
    torch.testing.assert_close(got, want.half().float())
    assert not torch.allclose(got, crop.half().float(), atol=1e-3)


def write_jpegs(folder, **save_kw):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((161 + i, 97 + 2 * i), Image.BICUBIC)  # odd sizes too
        img.save(folder / f"{i:03d}.jpg", quality=85, **save_kw)
    return folder


@pytest.mark.parametrize(
    "save_kw",
    [{}, {"subsampling": 0}, {"subsampling": 1}, {"progressive": True}],
    ids=["420", "444", "422", "progressive"],
)
def test_fast_jpeg_decode_is_pixel_identical_to_pil(tmp_path, save_kw):
    folder = write_jpegs(tmp_path / "j", **save_kw)
    for path in sorted(folder.iterdir()):
        np.testing.assert_array_equal(np.asarray(extract.decode_jpeg_fast(path)), np.asarray(extract.open_image(path)))
    assert extract.jpeg_decoder(sorted(folder.iterdir())) == "torchvision"


def test_jpeg_decoder_falls_back_to_pil_when_pixels_differ(tmp_path, monkeypatch):
    folder = write_jpegs(tmp_path / "j")
    real = extract.decode_jpeg_fast
    monkeypatch.setattr(
        extract, "decode_jpeg_fast", lambda p: Image.fromarray(np.asarray(real(p)) ^ np.uint8(1))
    )  # off by one bit
    assert extract.jpeg_decoder(sorted(folder.iterdir())) == "pil"
    assert extract.jpeg_decoder([]) == "pil"


def test_feature_cache_same_bytes_with_either_jpeg_decoder(clip_ckpts, tmp_path, monkeypatch):
    folder = write_jpegs(tmp_path / "j")
    kw = dict(images=folder, batch_size=2, workers=0, progress=False)
    extract.extract_features("image", clip_ckpts["rn"], tmp_path / "fast.h5", **kw)
    monkeypatch.setattr(extract, "jpeg_decoder", lambda paths: "pil")
    extract.extract_features("image", clip_ckpts["rn"], tmp_path / "pil.h5", **kw)
    with FeatureReader(tmp_path / "fast.h5") as a, FeatureReader(tmp_path / "pil.h5") as b:
        assert a.attrs["jpeg_decoder"] == "torchvision" and b.attrs["jpeg_decoder"] == "pil"
        for key in a.keys():
            np.testing.assert_array_equal(a.file[key][()], b.file[key][()])


def test_broken_jpeg_still_names_the_file(clip_ckpts, tmp_path):
    folder = write_jpegs(tmp_path / "j")
    (folder / "zzz.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"zzz\.jpg"):
        extract.extract_features("image", clip_ckpts["rn"], tmp_path / "x.h5", images=folder, workers=0, progress=False)
