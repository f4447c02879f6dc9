// libjpeg behind a setjmp boundary. See CImageCodecs.h.
#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;  // first, so libjpeg's pointer to it is also a pointer to this
    struct jpeg_progress_mgr progress;
    vlm_codec_status *status;
    jmp_buf jump;
} jpeg_session;

// libjpeg passes over the whole image once per scan of a progressive file, so a small file of
// very many tiny scans can take hours to decode (libjpeg-turbo's advisory LJT-01-003). Encoders
// write about ten; libjpeg-turbo suggests a cap like this one for untrusted input.
enum { MAX_SCANS = 500 };

static void record(j_common_ptr cinfo, int code) {
    jpeg_session *session = (jpeg_session *)cinfo->err;
    if (session->status->code != VLM_CODEC_OK) return;
    session->status->code = code;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(session->status->message, sizeof session->status->message, "%s", text);
}

static void on_error_exit(j_common_ptr cinfo) {
    record(cinfo, VLM_CODEC_CORRUPT);
    longjmp(((jpeg_session *)cinfo->err)->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    // level -1 is a warning about the data. libjpeg recovers from all of them, but after a
    // premature end it pads the rest of the image with grey: a partial image, so it is an error.
    // Other warnings (extraneous bytes before a marker, ...) are tolerated, as Pillow does.
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        record(cinfo, VLM_CODEC_TRUNCATED);
        longjmp(((jpeg_session *)cinfo->err)->jump, 1);
    }
}

static void on_progress(j_common_ptr cinfo) {
    if (((j_decompress_ptr)cinfo)->input_scan_number <= MAX_SCANS) return;
    jpeg_session *session = (jpeg_session *)cinfo->err;
    session->status->code = VLM_CODEC_CORRUPT;
    snprintf(session->status->message, sizeof session->status->message,
             "more than %d progressive scans", MAX_SCANS);
    longjmp(session->jump, 1);
}

static void begin(struct jpeg_decompress_struct *cinfo, jpeg_session *session, vlm_codec_status *status,
                  const uint8_t *data, size_t size) {
    status->code = VLM_CODEC_OK;
    status->message[0] = 0;
    session->status = status;
    cinfo->err = jpeg_std_error(&session->base);
    session->base.error_exit = on_error_exit;
    session->base.emit_message = on_emit_message;
    jpeg_create_decompress(cinfo);  // zeroes the rest of cinfo, so the monitor goes in after it
    session->progress.progress_monitor = on_progress;
    cinfo->progress = &session->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
}

static int output_channels(const struct jpeg_decompress_struct *cinfo) {
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: return 1;
    case JCS_CMYK:
    case JCS_YCCK: return 4;
    default: return 3;
    }
}

int vlm_jpeg_read_info(const uint8_t *data, size_t size, vlm_image_info *info, vlm_codec_status *status) {
    struct jpeg_decompress_struct cinfo;
    jpeg_session session;
    begin(&cinfo, &session, status, data, size);
    if (setjmp(session.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return status->code;
    }
    jpeg_read_header(&cinfo, TRUE);
    info->width = cinfo.image_width;
    info->height = cinfo.image_height;
    info->channels = output_channels(&cinfo);
    info->has_alpha = 0;
    jpeg_destroy_decompress(&cinfo);
    return VLM_CODEC_OK;
}

int vlm_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                    vlm_codec_status *status) {
    struct jpeg_decompress_struct cinfo;
    jpeg_session session;
    begin(&cinfo, &session, status, data, size);
    if (setjmp(session.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return status->code;
    }
    jpeg_read_header(&cinfo, TRUE);
    int channels = output_channels(&cinfo);
    cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : channels == 4 ? JCS_CMYK : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (cinfo.output_components != channels || pixels_size / stride != cinfo.output_height ||
        pixels_size % stride != 0) {
        status->code = VLM_CODEC_BAD_BUFFER;
        snprintf(status->message, sizeof status->message, "pixel buffer does not match the image size");
        jpeg_destroy_decompress(&cinfo);
        return status->code;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return VLM_CODEC_OK;
}
