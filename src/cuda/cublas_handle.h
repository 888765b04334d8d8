/*
 * cublas_handle.h — for the .cu files only (C++): the one cuBLAS handle of
 * each device (matmul.cu), which matmul and the convolutions share.
 */
#ifndef NABLA_CUBLAS_HANDLE_H
#define NABLA_CUBLAS_HANDLE_H

#include <cublas_v2.h>

/* The device's handle, made at first use on its stream with TF32 off
 * (CUBLAS_DEFAULT_MATH: float32 products match the CPU's); NULL if cuBLAS
 * cannot start. The caller has made device current. */
cublasHandle_t nbi_cuda_cublas(int device);

#endif /* NABLA_CUBLAS_HANDLE_H */
