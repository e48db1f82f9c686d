#!/bin/sh
# Remove from a virtual environment what a running service never loads. Runs in the *builder* stage of
# docker/Dockerfile.* (the final stage only copies the result), the same way for every variant so that
# the images compare fairly. Every removal is exercised by the container test and the golden check.
#   - test suites shipped inside wheels (numpy, sympy, networkx... `tests/` directories);
#   - type stubs, Cython declarations and C/C++ headers (only used to compile against a package);
#   - numpy's f2py (Fortran wrapper generator) and its test extension modules;
#   - Pillow's AVIF codec: the service opens PNG and JPEG only (Image.open(..., formats=[...]));
#   - Pillow's font (FreeType/HarfBuzz), colour-management (LittleCMS), WebP, Tk, ImageMath and
#     ImageMorph extension modules and the bundled libraries only they load (libpng16 is FreeType's;
#     Pillow writes PNG with zlib). _imaging itself and the libraries it links stay;
#   - numpy's distutils (a build tool) and _simd (a SIMD test module).
# usage: slim-venv.sh VENV_DIR
set -eu
venv="$1"
for site in "$venv"/lib/python3*/site-packages; do
    cd "$site"
    find . -depth -type d -name tests -exec rm -rf {} +
    find . -type f \( -name '*.pyi' -o -name '*.pxd' -o -name '*.h' -o -name '*.hpp' -o -name '*.cuh' \) -delete
    rm -rf numpy/_core/include numpy/f2py numpy/_core/_*_tests.cpython-*.so \
           numpy/distutils numpy/_core/_simd.cpython-*.so \
           PIL/_avif.cpython-*.so pillow.libs/libavif-*.so* \
           PIL/_imagingft.cpython-*.so PIL/_imagingcms.cpython-*.so PIL/_webp.cpython-*.so \
           PIL/_imagingtk.cpython-*.so PIL/_imagingmath.cpython-*.so PIL/_imagingmorph.cpython-*.so \
           pillow.libs/libfreetype-*.so* pillow.libs/libharfbuzz-*.so* pillow.libs/liblcms2-*.so* \
           pillow.libs/libwebp*.so* pillow.libs/libsharpyuv-*.so* pillow.libs/libbrotli*.so* \
           pillow.libs/libpng16-*.so* \
           torch/include torch/share/cmake
done
