// C shim over libpng and libjpeg.
//
// Both libraries report fatal errors by longjmp-ing out of the failing call. A longjmp must never
// cross a Swift frame, so every setjmp lives in this file: each entry point below returns a status
// code and a message, and the Swift side turns a non-zero code into a thrown error.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a shim call. `code` is one of the `VLM_CODEC_*` values; `message` holds the
/// library's own words when `code` is not `VLM_CODEC_OK`.
typedef struct {
    int code;
    char message[200];
} vlm_codec_status;

enum {
    VLM_CODEC_OK = 0,
    /// The library rejected the data (bad signature, CRC, Huffman table, unsupported variant...).
    VLM_CODEC_CORRUPT = 1,
    /// The data ended before the image did.
    VLM_CODEC_TRUNCATED = 2,
    /// The caller's buffer does not match the image (a bug in the caller, not in the file).
    VLM_CODEC_BAD_BUFFER = 3,
};

/// What the header says, read without decoding pixels.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// Samples per pixel that `*_decode` will write: PNG 3 (RGB) or 4 (RGBA);
    /// JPEG 1 (grey), 3 (RGB) or 4 (CMYK as stored in the file).
    int channels;
    /// 1 if the file has an alpha channel or a PNG tRNS chunk.
    int has_alpha;
} vlm_image_info;

/// Reads the PNG header. Accepts any colour type and bit depth.
int vlm_png_read_info(const uint8_t *data, size_t size, vlm_image_info *info, vlm_codec_status *status);

/// Decodes a PNG to 8-bit RGB or RGBA (per `vlm_png_read_info`'s `channels`): palettes and
/// grey levels below 8 bits are expanded, tRNS becomes alpha, 16-bit samples keep their high byte,
/// Adam7 is de-interlaced. `pixels` must hold exactly width * height * channels bytes.
int vlm_png_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                   vlm_codec_status *status);

/// Reads the JPEG header (SOF) without decoding pixels.
int vlm_jpeg_read_info(const uint8_t *data, size_t size, vlm_image_info *info, vlm_codec_status *status);

/// Decodes a JPEG with libjpeg's accurate integer IDCT and fancy upsampling (Pillow's settings):
/// grey as 1 channel, YCbCr/RGB as RGB, CMYK/YCCK as CMYK. A premature end of data is an error
/// (libjpeg would otherwise pad the image with grey).
int vlm_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                    vlm_codec_status *status);

#ifdef __cplusplus
}
#endif

#endif
