/*
 * llvm_math.h — float32 exp, log, tanh and erf emitted as straight-line
 * LLVM IR on scalars or vectors (codegen/llvm_math.c): polynomials and bit
 * manipulation in the vector registers instead of one libm call per lane.
 * Used by codegen/llvm.c for IR_EXP, IR_LOG, IR_TANH and IR_ERF.
 */
#ifndef CHAMCC_LLVM_MATH_H
#define CHAMCC_LLVM_MATH_H

#include <llvm-c/Core.h>

/* x is a float or a vector of floats; the result has its type. */
LLVMValueRef cg_math_exp(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x);
LLVMValueRef cg_math_log(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x);
LLVMValueRef cg_math_tanh(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x);
LLVMValueRef cg_math_erf(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x);

#endif
