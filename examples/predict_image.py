"""Say whether your own picture shows a cat, with a model saved by train_cat_classifier.py.

    python examples/train_cat_classifier.py --save cat_model.h5
    python examples/predict_image.py cat_model.h5 my_picture.jpg

The picture is resized to 64x64 RGB and scaled to [0, 1] like the training images (the last step
of seed 003). Needs Pillow: pip install 'fastnn[image]'.
"""

import argparse
import sys

import numpy as np

import fastnn


def image_features(path) -> np.ndarray:
    """One (1, 12288) row: the picture as 64x64 RGB, flattened like the cat data, in [0, 1]."""
    try:
        from PIL import Image
    except ImportError:
        sys.exit("predict_image.py needs Pillow: pip install 'fastnn[image]' (or Pillow itself)")
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB").resize((64, 64)), dtype=np.float64)
    return pixels.reshape(1, -1) / 255.0


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description="cat / non-cat for one picture")
    parser.add_argument("model", help="an HDF5 model from train_cat_classifier.py --save")
    parser.add_argument("image", help="a picture (JPEG, PNG, ...)")
    parser.add_argument("--backend", default="auto", choices=["auto", "loop", "numpy", "numba"])
    args = parser.parse_args(argv)
    model = fastnn.load_model(args.model)
    probability = float(model.predict(image_features(args.image), backend=args.backend)[0, 0])
    label = "cat" if probability > 0.5 else "non-cat"
    print(f"{args.image}: {label} (probability of cat {probability:.3f})")
    return probability


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as error:  # not a model file, not a picture
        sys.exit(f"error: {error}")
