package enginecmp

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/klauspost/compress/dict"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

const (
	// compressSample is how many documents BenchmarkCompressibility
	// compresses (about 35 MB of JSON); the dictionary is trained on the
	// dictSample documents before them.
	compressSample = 30_000
	dictSample     = 5_000
	dictSize       = 64 << 10
)

// BenchmarkCompressibility compresses span records (key and value, in key
// order) in independent blocks of several sizes, as an engine's data blocks
// would be, with several codecs: the floor that block compression of the raw
// documents can reach, independent of any engine.
func BenchmarkCompressibility(b *testing.B) {
	ds := getDataset(b, *flagSpans)
	train, sample := sampleDocs(b, ds, dictSample, compressSample)
	spansPerDoc := float64(ds.spans) / float64(ds.docs)
	var raw int
	for _, d := range sample {
		raw += len(d)
	}
	d, err := dict.BuildZstdDict(train, dict.Options{MaxDictSize: dictSize, HashBytes: 6})
	if err != nil {
		b.Fatal(err)
	}
	type codec struct {
		name string
		new  func() (func(dst, src []byte) []byte, error)
	}
	zstdCodec := func(name string, opts ...zstd.EOption) codec {
		return codec{name, func() (func(dst, src []byte) []byte, error) {
			enc, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderConcurrency(1))...)
			if err != nil {
				return nil, err
			}
			return func(dst, src []byte) []byte { return enc.EncodeAll(src, dst[:0]) }, nil
		}}
	}
	codecs := []codec{
		{"snappy", func() (func(dst, src []byte) []byte, error) {
			return func(dst, src []byte) []byte { return s2.EncodeSnappy(dst[:cap(dst)], src) }, nil
		}},
		zstdCodec("zstd-fastest", zstd.WithEncoderLevel(zstd.SpeedFastest)),
		zstdCodec("zstd-default", zstd.WithEncoderLevel(zstd.SpeedDefault)),
		zstdCodec("zstd-better", zstd.WithEncoderLevel(zstd.SpeedBetterCompression)),
		zstdCodec("zstd-best", zstd.WithEncoderLevel(zstd.SpeedBestCompression)),
		zstdCodec("zstd-default-dict64k", zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderDict(d)),
	}
	for _, c := range codecs {
		for _, bs := range []int{4 << 10, 32 << 10, 64 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", c.name, bs>>10), func(b *testing.B) {
				compress, err := c.new()
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(raw))
				var out int
				for range b.N {
					out = compressBlocks(sample, bs, compress)
				}
				b.ReportMetric(float64(out)/(float64(len(sample))*spansPerDoc), "B/span")
				b.ReportMetric(float64(raw)/float64(out), "ratio")
			})
		}
	}
}

// compressBlocks cuts the records into blocks of about size bytes,
// compresses each on its own and returns the compressed total.
func compressBlocks(recs [][]byte, size int, compress func(dst, src []byte) []byte) int {
	var (
		block, dst []byte
		total      int
	)
	dst = make([]byte, 0, 2*size+1<<20)
	for i, r := range recs {
		block = append(block, r...)
		if len(block) >= size || i == len(recs)-1 {
			total += len(compress(dst, block))
			block = block[:0]
		}
	}
	return total
}

// sampleDocs reads the first skip+n span records of the data set and
// returns them as key||value, the first skip and the next n each sorted by
// key.
func sampleDocs(b *testing.B, ds *dataset, skip, n int) (first, next [][]byte) {
	var all [][]byte
	stop := fmt.Errorf("enough")
	err := ds.replay(func(batch []record) error {
		for _, r := range batch {
			if r.key[0] != spanPrefix {
				continue
			}
			all = append(all, append(slices.Clip(bytes.Clone(r.key)), r.val...))
			if len(all) == skip+n {
				return stop
			}
		}
		return nil
	})
	if err != nil && err != stop {
		b.Fatal(err)
	}
	first, next = all[:min(skip, len(all))], all[min(skip, len(all)):]
	for _, s := range [][][]byte{first, next} {
		slices.SortFunc(s, func(x, y []byte) int { return bytes.Compare(x[:spanKeyLen], y[:spanKeyLen]) })
	}
	return first, next
}
