import ImageCodec

extension Image {
    /// The `width` × `height` region whose top-left corner is (`x`, `y`); it must lie inside the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> Image {
        precondition(x >= 0 && y >= 0 && cropWidth > 0 && cropHeight > 0 && x + cropWidth <= width && y + cropHeight <= height,
                     "crop outside the image")
        let channels = self.channels
        var samples = [UInt8]()
        samples.reserveCapacity(cropWidth * cropHeight * channels)
        for row in y..<(y + cropHeight) {
            let start = (row * width + x) * channels
            samples.append(contentsOf: pixels[start..<(start + cropWidth * channels)])
        }
        return Image(width: cropWidth, height: cropHeight, layout: layout, pixels: samples)!
    }
}
