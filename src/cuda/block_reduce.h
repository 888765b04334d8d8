/*
 * block_reduce.h — for the .cu files only (C++): the one fixed-order tree
 * in which a block combines its threads' partials (the reductions,
 * softmax, batch norm's channel sums, the selection counts). The order
 * depends on the block size alone, so a result is the same on every run.
 */
#ifndef NABLA_CUDA_BLOCK_REDUCE_H
#define NABLA_CUDA_BLOCK_REDUCE_H

/* Threads per block of every kernel that combines through it. */
constexpr int nbi_block_threads = 256;

/* Every thread's v combined by f over the block, pairwise halving; every
 * thread gets the result. shared holds nbi_block_threads values of A, and
 * may be reused as soon as this returns. */
template <typename A, typename F> __device__ A nbi_block_combine(A v, A *shared, F f)
{
    int t     = threadIdx.x;
    shared[t] = v;
    __syncthreads();
    for (int half = nbi_block_threads / 2; half > 0; half /= 2) {
        if (t < half) shared[t] = f(shared[t], shared[t + half]);
        __syncthreads();
    }
    A r = shared[0];
    __syncthreads();
    return r;
}

template <typename A> __device__ A nbi_block_sum(A v, A *shared)
{
    return nbi_block_combine(v, shared, [](A a, A b) { return a + b; });
}

#endif /* NABLA_CUDA_BLOCK_REDUCE_H */
