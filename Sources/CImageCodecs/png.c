// libpng behind a setjmp boundary. See CImageCodecs.h.
#include "CImageCodecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    vlm_codec_status *status;
    jmp_buf jump;
} png_session;

static void set_status(vlm_codec_status *status, int code, const char *message) {
    status->code = code;
    snprintf(status->message, sizeof status->message, "%s", message);
}

static void on_error(png_structp png, png_const_charp message) {
    png_session *session = (png_session *)png_get_error_ptr(png);
    // A short read already recorded "truncated"; keep that more precise reason.
    if (session->status->code == VLM_CODEC_OK) {
        set_status(session->status, VLM_CODEC_CORRUPT, message);
    }
    longjmp(session->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    // Warnings (bad CRC in an ancillary chunk, unknown chunk, ...) leave the pixels intact,
    // as in Pillow; they are not errors.
    (void)png;
    (void)message;
}

static void read_from_memory(png_structp png, png_bytep out, size_t length) {
    png_session *session = (png_session *)png_get_io_ptr(png);
    if (length > session->size - session->position) {
        set_status(session->status, VLM_CODEC_TRUNCATED, "file ends before the image data does");
        png_error(png, "truncated");
    }
    memcpy(out, session->data + session->position, length);
    session->position += length;
}

// Creates the libpng structures; returns 0 and sets `status` when that fails.
static int open_png(png_session *session, png_structp *png, png_infop *info) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, session, on_error, on_warning);
    if (*png == NULL) {
        set_status(session->status, VLM_CODEC_CORRUPT, "libpng could not be initialised");
        return 0;
    }
    *info = png_create_info_struct(*png);
    if (*info == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        set_status(session->status, VLM_CODEC_CORRUPT, "libpng could not be initialised");
        return 0;
    }
    // Image size limits are the caller's business (checked against the header before any
    // pixel buffer exists); lift libpng's own 1,000,000-pixel row/column cap.
    png_set_user_limits(*png, 0x7fffffff, 0x7fffffff);
    png_set_read_fn(*png, session, read_from_memory);
    return 1;
}

// Requests 8-bit RGB(A) output and returns the number of output channels.
static int configure_transforms(png_structp png, png_infop info) {
    png_byte color_type = png_get_color_type(png, info);
    int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    png_set_expand(png);        // palette -> RGB, grey 1/2/4 -> 8 bit, tRNS -> alpha
    png_set_strip_16(png);      // 16 -> 8 bit by keeping the high byte, as Pillow does
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return has_alpha ? 4 : 3;
}

int vlm_png_read_info(const uint8_t *data, size_t size, vlm_image_info *info_out, vlm_codec_status *status) {
    set_status(status, VLM_CODEC_OK, "");
    png_session session = {data, size, 0, status};
    png_structp png;
    png_infop info;
    if (!open_png(&session, &png, &info)) return status->code;
    if (setjmp(session.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        return status->code;
    }
    png_read_info(png, info);
    info_out->width = png_get_image_width(png, info);
    info_out->height = png_get_image_height(png, info);
    info_out->channels = configure_transforms(png, info);
    info_out->has_alpha = info_out->channels == 4;
    png_destroy_read_struct(&png, &info, NULL);
    return VLM_CODEC_OK;
}

int vlm_png_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                   vlm_codec_status *status) {
    set_status(status, VLM_CODEC_OK, "");
    png_session session = {data, size, 0, status};
    png_structp png;
    png_infop info;
    if (!open_png(&session, &png, &info)) return status->code;
    // Declared volatile: they are written between setjmp and a possible longjmp.
    png_bytep *volatile rows = NULL;
    if (setjmp(session.jump)) {
        png_free(png, rows);
        png_destroy_read_struct(&png, &info, NULL);
        return status->code;
    }
    png_read_info(png, info);
    size_t width = png_get_image_width(png, info);
    size_t height = png_get_image_height(png, info);
    size_t channels = (size_t)configure_transforms(png, info);
    size_t stride = width * channels;
    if (png_get_rowbytes(png, info) != stride || pixels_size / stride != height || pixels_size % stride != 0) {
        set_status(status, VLM_CODEC_BAD_BUFFER, "pixel buffer does not match the image size");
        png_destroy_read_struct(&png, &info, NULL);
        return status->code;
    }
    rows = png_malloc(png, height * sizeof(png_bytep));
    for (size_t y = 0; y < height; y++) rows[y] = pixels + y * stride;
    png_read_image(png, rows);
    png_free(png, rows);
    rows = NULL;
    // Every row is decoded. What follows the image data (text, eXIf, IEND) cannot change the
    // pixels, and a file cut off there still shows the whole image (Pillow accepts it too), so a
    // failure in png_read_end is not an error.
    if (setjmp(session.jump) == 0) {
        png_read_end(png, NULL);
    }
    set_status(status, VLM_CODEC_OK, "");
    png_destroy_read_struct(&png, &info, NULL);
    return VLM_CODEC_OK;
}
