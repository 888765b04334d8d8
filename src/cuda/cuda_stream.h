/*
 * cuda_stream.h — for the .cu files only (C++): the stream that carries a
 * device's work (runtime.cu). The caller has made device current.
 */
#ifndef NABLA_CUDA_STREAM_H
#define NABLA_CUDA_STREAM_H

#include <cuda_runtime.h>

cudaStream_t nbi_cuda_stream(int device);

#endif /* NABLA_CUDA_STREAM_H */
